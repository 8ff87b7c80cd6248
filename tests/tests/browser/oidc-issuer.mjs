// A real OpenID Connect provider on loopback for the browser tests: npm
// `oauth2-mock-server` (authorization code with PKCE, discovery, JWKS, RS256 ID tokens
// carrying the nonce of the authorization request), plus what each test case needs the
// provider to do wrong. tests/tests/browser_oidc.rs installs the package next to this
// file and runs it.
//
// Prints `issuer <url>` once listening. Then reads one JSON command per line on stdin and
// answers `ok` when it is in force for the next sign-ins:
//   {"mode": "honest" | "wrong-issuer" | "bad-signature" | "expired" | "replay",
//    "email": "...", "sub": "...", "groups": ["..."]}
// - honest:        the ID token as a provider issues it (the given identity);
// - wrong-issuer:  `iss` names another issuer;
// - bad-signature: the token's signature is altered after signing;
// - expired:       `exp` an hour ago;
// - replay:        the ID token of the last honest sign-in is sent again.
import { OAuth2Server } from "oauth2-mock-server";
import readline from "node:readline";

const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");
await server.start(0, "127.0.0.1");
// The server would name itself `localhost`, which may resolve to ::1 where it does not listen.
server.issuer.url = `http://127.0.0.1:${server.address().port}`;

let current = { mode: "honest", email: "nobody@example.com", sub: "nobody" };
let lastHonest = null;

// The ID token is the token built with an audience (the access token has none).
server.service.on("beforeTokenSigning", (token) => {
  if (token.payload.aud === undefined) return;
  token.payload.sub = current.sub;
  token.payload.email = current.email;
  token.payload.email_verified = true;
  token.payload.name = current.sub;
  if (current.groups) token.payload.groups = current.groups;
  const now = Math.floor(Date.now() / 1000);
  if (current.mode === "wrong-issuer") token.payload.iss = "http://127.0.0.1:1/another-issuer";
  if (current.mode === "expired") {
    token.payload.iat = now - 7200;
    token.payload.nbf = now - 7200;
    token.payload.exp = now - 3600;
  }
});

server.service.on("beforeResponse", (response) => {
  const idToken = response.body.id_token;
  if (typeof idToken !== "string") return;
  if (current.mode === "honest") lastHonest = idToken;
  if (current.mode === "bad-signature") {
    const [header, payload, signature] = idToken.split(".");
    // Flip the first signature character: a well-formed token whose signature fails.
    const first = signature[0] === "A" ? "B" : "A";
    response.body.id_token = `${header}.${payload}.${first}${signature.slice(1)}`;
  }
  if (current.mode === "replay") {
    if (lastHonest === null) throw new Error("replay before any honest sign-in");
    response.body.id_token = lastHonest;
  }
});

console.log(`issuer ${server.issuer.url}`);

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  try {
    current = JSON.parse(line);
    console.log("ok");
  } catch (e) {
    console.log(`error ${e}`);
  }
});
// The test closing stdin (or dying) ends the provider.
lines.on("close", async () => {
  await server.stop();
  process.exit(0);
});
