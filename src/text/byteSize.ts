/**
 * A size in bytes for people, in KiB below a MiB and in MiB from there, rounded up to a tenth, so that a
 * size just over a limit never reads as the limit itself.
 */
export function byteSize(bytes: number): string {
  const [amount, unit] = bytes >= 1024 * 1024 ? [bytes / 1024 / 1024, 'MiB'] : [bytes / 1024, 'KiB'];
  return `${Math.ceil(amount * 10) / 10} ${unit}`;
}
