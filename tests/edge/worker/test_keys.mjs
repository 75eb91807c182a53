// The keys of the test caches, shared by vitest.config.mjs (the Worker's
// TRUSTED_KEYS binding) and fixtures.mjs (which signs with them).
// Test-only Ed25519 keys: seed (hex) and public key (base64). Not secrets.
export const KEYS = {
  main1: { name: 'main-1', seed: '4e8297daae95c394b9523c1bff248aa49e88aa75a9b77540afd32d7f502c2701', pub: 'Zu+/SZh6D4RRdZqkC5GMQuanFxp61KffkzlSnq5+TEI=' },
  team1: { name: 'team-1', seed: 'cc3c48a43216f4c08e32b87818904265ee8eb8d726c724101632b6626b37a03e', pub: 'GmU44aFQQzFEUI+e4EcQh9WML5wijo+Sg7NoRgSSHAk=' },
  team2: { name: 'team-2', seed: '2534cb770284462a153d325f240c448fdf1066fb69baa630bc118bea0fa0ad4f', pub: 'WKD49tyjkKG4MxxU2Vj3hvR6enZhKCA+g8icAnJWb5M=' },
};
export const publicKey = (key) => `${key.name}:${key.pub}`;

// What vitest.config.mjs binds: caches "main" (one key) and "team" (two keys, a rotation).
export const TRUSTED_KEYS = {
  main: [publicKey(KEYS.main1)],
  team: [publicKey(KEYS.team1), publicKey(KEYS.team2)],
};

