// A real OpenID Connect provider for the sign-in tests: panva's certified oidc-provider,
// started by tests/fixtures/oidc_provider.py on 127.0.0.1 and stopped at the session's end.
//
// node tests/oidc/provider.mjs PORT USERS.json CLIENT.json
// USERS.json: {"<login>": {"preferred_username": ..., "groups": [...]}} — read again at every
// sign-in, so that a test can take a user out of a group. CLIENT.json: the one client (the app).
// Logins go through devInteractions' form (any password); consent is granted at once.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const [port, usersFile, clientFile] = process.argv.slice(2);
const client = JSON.parse(readFileSync(clientFile, 'utf8'));
const SCOPES = ['openid', 'profile', 'email', 'groups'];
const CLAIMS = { profile: ['preferred_username', 'name'], email: ['email'], groups: ['groups'] };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{ ...client, grant_types: ['authorization_code'], response_types: ['code'],
              token_endpoint_auth_method: 'client_secret_post' }],
  scopes: SCOPES,
  claims: { openid: ['sub'], ...CLAIMS },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: () => false },
  cookies: { keys: ['kubemon-tests-only'] },
  async findAccount(ctx, id) {
    const users = JSON.parse(readFileSync(usersFile, 'utf8'));
    if (!users[id]) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...users[id] }) };
  },
  async loadExistingGrant(ctx) {
    const { Grant } = ctx.oidc.provider;
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return Grant.find(grantId);
    const grant = new Grant({ clientId: ctx.oidc.client.clientId,
                              accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(SCOPES.join(' '));
    await grant.save();
    return grant;
  },
});
provider.listen(Number(port), '127.0.0.1', () => console.log(`listening on ${port}`));
