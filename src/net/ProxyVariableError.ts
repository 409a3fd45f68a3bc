/** A proxy variable of the environment (HTTPS_PROXY, ...) that undici cannot use: every request fails with it. */
export class ProxyVariableError extends Error {
  override readonly name = 'ProxyVariableError';
  readonly variable: string;

  constructor(variable: string) {
    // The value is not shown: a proxy's URL may hold its password.
    super(`the proxy in ${variable} is not an http:// or https:// URL: write it as http://host:port, or unset ${variable}`);
    this.variable = variable;
  }
}
