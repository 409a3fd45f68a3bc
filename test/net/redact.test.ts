import { describe, expect, it } from 'vitest';
import { credentialsIn, redact } from '../../src/net/redact.ts';

describe('redact', () => {
  it('hides a secret as written and as JSON writes it, Python\'s ASCII escapes and escaped slashes included', () => {
    const secret = 'pw-"quoted"/Grüße\\x';
    const python = 'pw-\\"quoted\\"/Gr\\u00fc\\u00dfe\\\\x';
    for (const text of [
      `refused '${secret}'`,
      `{"message": "refused '${JSON.stringify(secret).slice(1, -1)}'"}`,
      `{"message": "refused '${python}'"}`,
      `{"message": "refused '${python.replaceAll('/', '\\/')}'"}`,
      `{"message": "refused '${python.replace('\\u00fc', '\\u00FC').replace('\\u00df', '\\u00DF')}'"}`,
    ]) {
      const out = redact(text, [secret]);
      expect(out, text).toContain("refused '<hidden>'");
      expect(JSON.stringify(out)).not.toMatch(/Gr(ü|\\u00fc)/i);
    }
  });

  it('hides a secret with < > or & as Go\'s encoding/json writes them (\\u003c, \\u003e, \\u0026)', () => {
    const secret = 'pa<s>s&w0rd';
    expect(redact('{"message":"bad password pa\\u003cs\\u003es\\u0026w0rd"}', [secret])).toBe('{"message":"bad password <hidden>"}');
    expect(redact(JSON.stringify({ message: `echo ${JSON.stringify({ password: secret }).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`)}` }), [secret])).not.toContain('w0rd');
    expect(redact(`bad password ${secret}`, [secret])).toBe('bad password <hidden>');
  });

  it('hides a secret with < and an apostrophe as Go writes it: < escaped, the apostrophe as it is', () => {
    expect(redact('{"message":"bad password pa\\u003cs\'w0rd"}', ["pa<s'w0rd"])).toBe('{"message":"bad password <hidden>"}');
    // & as well, beside an apostrophe that .NET would escape too: only Go's own form matches.
    expect(redact('{"message":"bad password pa\\u0026s\'w0rd"}', ["pa&s'w0rd"])).toBe('{"message":"bad password <hidden>"}');
  });

  it('hides a secret with = or an apostrophe as Gson writes them by default (\\u003d, \\u0027), with < > &', () => {
    // What new Gson().toJson(Map.of("message", "bad token " + secret)) writes: base64's padding escaped.
    expect(redact('{"message":"bad token c2VjcmV0LXRva2VuLTE\\u003d"}', ['c2VjcmV0LXRva2VuLTE='])).toBe('{"message":"bad token <hidden>"}');
    expect(redact('{"message":"bad password it\\u0027s\\u003d\\u003cpw\\u0026\\u003e"}', ["it's=<pw&>"])).toBe('{"message":"bad password <hidden>"}');
  });

  it('hides a secret whose only character JSON may escape is a slash, as PHP writes it (\\/)', () => {
    expect(redact('{"error":"bad token tok/en/12345"}', ['tok/en/12345'])).toBe('{"error":"bad token <hidden>"}');
    expect(redact('{"error":"bad token tok\\/en\\/12345"}', ['tok/en/12345'])).toBe('{"error":"bad token <hidden>"}');
  });

  it('hides a secret cut short at the end of a text in which it also stands whole, among other secrets', () => {
    const longer = 'Longer-secret-not-in-the-text-1';
    const token = 'T0ken-quoted-twice-42';
    expect(redact(`refused ${token}; retried ${token.slice(0, -1)}…`, [longer, token])).toBe('refused <hidden>; retried <hidden>…');
  });

  it('hides a secret with \' + ` or " as .NET\'s System.Text.Json writes them by default (\\u0027, \\u002B, \\u0060, \\u0022), with < > & and what is past ASCII', () => {
    // What JsonSerializer.Serialize(new { message = "bad password " + secret }) writes with the default encoder.
    const secret = `it's+a"pass\`wörd<&>`;
    const dotnet = 'it\\u0027s\\u002Ba\\u0022pass\\u0060w\\u00F6rd\\u003C\\u0026\\u003E';
    expect(redact(`{"message":"bad password ${dotnet}"}`, [secret])).toBe('{"message":"bad password <hidden>"}');
    // Quoted again, as the body of a request repeated inside a message.
    expect(redact(JSON.stringify({ message: `echo {"password":"${dotnet}"}` }), [secret])).toBe(JSON.stringify({ message: 'echo {"password":"<hidden>"}' }));
    // Each of them alone, in a secret otherwise plain.
    for (const [c, escape] of [["'", '\\u0027'], ['+', '\\u002B'], ['`', '\\u0060'], ['"', '\\u0022']] as const) {
      expect(redact(`refused x9${escape}Tk3n-7`, [`x9${c}Tk3n-7`])).toBe('refused <hidden>');
    }
  });

  it('hides a secret quoted inside a quoted request body (escaped twice), tabs and quotes included', () => {
    const secret = 'SECRET"PW\ttab';
    const body = JSON.stringify({ auth: { password: secret } });
    const text = JSON.stringify({ error: { message: `bad request ${body}` } });
    const out = redact(text, [secret]);
    expect(out).not.toContain('SECRET');
    expect((JSON.parse(out) as { error: { message: string } }).error.message).toBe('bad request {"auth":{"password":"<hidden>"}}');
  });

  it('hides a plain token wherever it stands, and leaves secrets under 4 characters and other text alone', () => {
    expect(redact('token gAAAA-x_1 twice gAAAA-x_1', ['gAAAA-x_1'])).toBe('token <hidden> twice <hidden>');
    expect(redact('the abc of it', ['abc'])).toBe('the abc of it');
    expect(redact('nothing here', ['gAAAA-x_1'])).toBe('nothing here');
  });

  it('hides a secret cut short, 8 characters of it or more, where the text ends or an ellipsis follows', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2lnbmF0dXJl';
    const bearer = credentialsIn({ authorization: `Bearer ${jwt}` });
    expect(redact(`{"echo":"Authorization: Bearer ${jwt.slice(0, 20)}…"}`, bearer)).toBe('{"echo":"Authorization: <hidden>…"}');
    expect(redact(`token ${jwt.slice(0, 8)}... is invalid`, bearer)).toBe('token <hidden>... is invalid');
    // A body or a reply cut to a size, as the cut leaves it.
    expect(redact(`{"headers":{"X-Auth-Token":"${jwt.slice(0, 30)}`, [jwt])).toBe('{"headers":{"X-Auth-Token":"<hidden>');
    expect(redact(`refused ${jwt.slice(0, 12)}\n`, [jwt])).toBe('refused <hidden>\n');
    expect(redact(`seen… then ${jwt.slice(0, 10)}… and ${jwt.slice(0, 9)}`, [jwt])).toBe('seen… then <hidden>… and <hidden>');
    // As escaped, and cut inside an escape.
    expect(redact('{"message":"bad password it\\u0027s-a-lo…"}', ["it's-a-long-password"])).toBe('{"message":"bad password <hidden>…"}');
    expect(redact('{"message":"bad password pass\\u00…"}', ["pass'word-long"])).toBe('{"message":"bad password <hidden>…"}');
  });

  it('shows a start under 8 characters, a cut not marked as one, a secret\'s middle, and ordinary words elsewhere', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2lnbmF0dXJl';
    for (const text of [`token ${jwt.slice(0, 7)}…`, `token "${jwt.slice(0, 20)}" is invalid`, `token ${jwt.slice(0, 20)} [truncated]`, `token …${jwt.slice(5, 30)}…`]) {
      expect(redact(text, [jwt])).toBe(text);
    }
    // A secret of 8 characters or fewer is hidden only whole.
    expect(redact('the hunter2…', ['hunter22'])).toBe('the hunter2…');
    // An ordinary word a secret starts with is hidden only where it ends the text or meets an ellipsis.
    expect(redact('the password is wrong; password...', ['password123'])).toBe('the password is wrong; <hidden>...');
  });

  it('hides a secret that holds another whole, whatever their order', () => {
    expect(redact('refused alice:alice-pw-7', ['alice', 'alice-pw-7'])).toBe('refused <hidden>:<hidden>');
  });

  it('redacts each answer made with a token of several KB, base64 with + and /, and more such secrets than it keeps the forms of', () => {
    // As Huawei IAM's tokens are (MII..., several KB), and sent with every poll: each answer is redacted.
    const token = `MIIZkgYJKoZIhvcNAQcC${Buffer.from(Array.from({ length: 6000 }, (_, i) => (i * 7919) % 256)).toString('base64')}`;
    expect(token).toMatch(/\+.*\//);
    const body = JSON.stringify({ instanceAction: { action: 'resize', events: Array.from({ length: 6 }, (_, i) => ({ event: `compute_step_${i}`, result: 'Success', traceback: 'Traceback\n  File "manager.py"' })) } });
    expect(redact(`${body} ${token}`, [token])).toBe(`${body} <hidden>`);
    // Forms are kept for a few secrets at a time: one dropped and asked for again is made again, as it was.
    const secrets = Array.from({ length: 40 }, (_, i) => `pa+ss/${i}<&>'word`);
    for (const round of [1, 2]) {
      for (const secret of secrets) expect(redact(`round ${round}: ${JSON.stringify({ echoed: secret })}`, [secret]), secret).toBe(`round ${round}: {"echoed":"<hidden>"}`);
    }
  });

  it('takes as credentials the headers whose names say so, not the request\'s other headers', () => {
    const sent = { 'x-auth-token': 'tok-1', authorization: 'SDK-HMAC-SHA256 Access=AK, Signature=abc', 'x-security-token': 'st-1', 'x-api-key': 'k-1', host: 'ecs.example.com', 'x-project-id': 'p1', 'x-sdk-date': '20260101T000000Z' };
    expect(credentialsIn(sent).sort()).toEqual(['Access=AK, Signature=abc', 'SDK-HMAC-SHA256 Access=AK, Signature=abc', 'abc', 'k-1', 'st-1', 'tok-1']);
  });

  it('hides an AK/SK signature echoed alone, and a security token echoed percent-encoded, as in a query or a form', () => {
    const signature = 'ad732a481bbe40c2a3f2b1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2b022788';
    const token = 'gQpjbi1ub3J0aC00jD+EXAMPLE/security+token== with a space';
    const sent = { authorization: `SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=${signature}`, 'x-security-token': token };
    const echoed = `sig=${signature} tokenc=${encodeURIComponent(token)} form=${new URLSearchParams({ t: token }).toString()}`;
    expect(redact(echoed, credentialsIn(sent))).toBe('sig=<hidden> tokenc=<hidden> form=t=<hidden>');
    // A plain secret with what percent-encoding changes (`=`, `:`) is hidden encoded too.
    expect(redact('key%3Dvalue%3A1 and key=value:1', ['key=value:1'])).toBe('<hidden> and <hidden>');
  });

  it('takes as credentials a cookie, a signature, a client secret and a password header, whatever their case', () => {
    const sent = { Cookie: 'session=c00kie-1', 'X-Hub-Signature-256': 'sha256=5ig-2', 'X-Client-Secret': 'cs-3', 'X-Admin-Pass': 'pw-4', Accept: 'application/json' };
    expect(credentialsIn(sent).sort()).toEqual(['c00kie-1', 'cs-3', 'pw-4', 'session=c00kie-1', 'sha256=5ig-2']);
  });

  it('takes an authorization\'s credentials alone too, and Basic\'s decoded and its password, which a receiver may repeat', () => {
    expect(credentialsIn({ authorization: 'Bearer B3arerTok3n' })).toEqual(['Bearer B3arerTok3n', 'B3arerTok3n']);
    const basic = Buffer.from('robot:Pa55w0rd!').toString('base64');
    expect(credentialsIn({ Authorization: `Basic ${basic}` })).toEqual([`Basic ${basic}`, basic, 'robot:Pa55w0rd!', 'Pa55w0rd!']);
    expect(redact('token B3arerTok3n is invalid', credentialsIn({ authorization: 'Bearer B3arerTok3n' }))).toBe('token <hidden> is invalid');
    // The scheme is case-insensitive (RFC 9110): a `basic` one is decoded too.
    expect(credentialsIn({ authorization: `basic ${basic}` })).toEqual([`basic ${basic}`, basic, 'robot:Pa55w0rd!', 'Pa55w0rd!']);
  });
});
