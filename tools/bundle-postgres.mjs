// Bundles pkg-template/src/postgres.mjs into <out>/lib/postgres.cjs for scripts/build-pkg.sh:
// `pg` stays external (the user's peer dependency), and the core's error module is taken from
// lib/node.cjs at run time rather than copied, so that PostgresStorage's errors are the same
// EventStoreError class every other entry exports. (The esbuild CLI has no way to map a source
// module onto an external one; this plugin is that mapping.)
//   node tools/bundle-postgres.mjs <out>
import { build } from 'esbuild';

const out = process.argv[2];
await build({
  entryPoints: ['pkg-template/src/postgres.mjs'],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile: `${out}/lib/postgres.cjs`,
  external: ['pg'],
  logLevel: 'warning',
  plugins: [{
    name: 'shared-errors',
    setup(b) {
      b.onResolve({ filter: /\/core\/errors\.mjs$/ }, () => ({ path: './node.cjs', external: true }));
    },
  }],
});
