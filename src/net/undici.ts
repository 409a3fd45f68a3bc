// undici takes longer to load than the rest of a one-shot command together: `--help`, `validate`, `add`
// and `remove` never talk HTTP, so it is loaded at the first request rather than at start.
type Undici = typeof import('undici');

let loaded: Undici | undefined;
let loading: Promise<Undici> | undefined;

/** undici, loaded once. */
export async function undici(): Promise<Undici> {
  if (loaded) return loaded;
  loading ??= import('undici').then((module) => (loaded = module));
  return loading;
}

/** Whether undici is loaded: a request need not wait for it. */
export function undiciLoaded(): boolean {
  return loaded !== undefined;
}

/** undici if it is loaded already: for code that runs only once a request has loaded it. */
export function loadedUndici(): Undici {
  if (!loaded) throw new Error('undici is used before it was loaded');
  return loaded;
}
