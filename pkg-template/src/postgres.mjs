// What the PostgreSQL entry needs: PostgresStorage. scripts/build-pkg.sh bundles it on its own
// into lib/postgres.cjs, with `pg` left to the user (a peer dependency) and the error classes
// taken from lib/node.cjs (so that there is one EventStoreError for every entry): keeping it out
// of lib/node.cjs keeps bundlers of the other Node entries from looking for `pg`.
export { PostgresStorage } from './adapters/postgres/postgres-storage.mjs';
