// CRC-32 (IEEE), the one of zlib/PNG/gzip, that checks every frame of the log. node:zlib has it
// natively from Node 20.15 / 22.2; older Node 20 releases get the table-driven one.
import zlib from 'node:zlib';

export const crc32 = typeof zlib.crc32 === 'function'
  ? (buffer) => zlib.crc32(buffer) >>> 0
  : (() => {
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
    return (buffer) => {
      let c = 0xffffffff;
      for (let i = 0; i < buffer.length; i++) c = table[(c ^ buffer[i]) & 0xff] ^ (c >>> 8);
      return (c ^ 0xffffffff) >>> 0;
    };
  })();
