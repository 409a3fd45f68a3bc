// Resources are acquired in order and released in reverse, as graphile-worker's withReleasers does: a
// part is released only once everything that depends on it has been. Every release runs even when an
// earlier one fails, and the first failure is the one reported.

export type Release = () => Promise<void>;

export class Releasers {
  readonly #releases: Release[] = [];
  #released: Promise<void> | null = null;

  /** Registers the release of something just acquired. */
  add(release: Release): void {
    if (this.#released) throw new Error('cannot acquire more once released');
    this.#releases.push(release);
  }

  /** Runs every release, last added first; rejects with the first failure after all have run. Idempotent. */
  release(): Promise<void> {
    this.#released ??= (async () => {
      let first: { error: unknown } | null = null;
      for (const release of this.#releases.toReversed()) {
        try {
          await release();
        } catch (error) {
          first ??= { error };
        }
      }
      if (first) throw first.error;
    })();
    return this.#released;
  }
}
