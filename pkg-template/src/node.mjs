// What the Node entries need: the browser parts and FileStorage. esbuild bundles it into one
// CommonJS module, lib/node.cjs, which every Node entry requires, so that `import` and `require`
// (and the main, /node and /testing entries) share one set of classes.
export * from './browser.mjs';
export { FileStorage } from './adapters/file-storage/file-storage.mjs';
