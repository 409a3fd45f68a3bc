/** A proxy variable of the environment (HTTPS_PROXY, ...) that undici cannot use: every request fails with it. */
export class ProxyVariableError extends Error {
  override readonly name = 'ProxyVariableError';
  readonly variable: string;

  /** `problem`: what is wrong with the value, in words that do not quote it; by default, that it is no http(s) URL. */
  constructor(variable: string, problem?: string) {
    // The value is not shown: a proxy's URL may hold its password.
    super(`the proxy in ${variable} ${problem ?? `is not an http:// or https:// URL: write it as http://host:port, or unset ${variable}`}`);
    this.variable = variable;
  }
}
