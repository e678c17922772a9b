// The sync protocol's constants, shared by HttpRemote and the sync handler (the README's
// "Sync protocol" section is their description for other clients).
export const PROTOCOL = 1;
export const ROUTES = Object.freeze({ push: 'push', pull: 'pull' });
