/**
 * The optimising compiles that `--trace-opt` wrote in `output`, in order: the function's name and the
 * compiler (`target TURBOFAN_JS`: the letters before the underscore). Throws when there is none at all, so
 * that a test that expects a compiler to be missing cannot pass because --trace-opt now writes otherwise.
 */
export function optimisingCompiles(output: string): Array<{ fn: string; compiler: string }> {
  const lines = output.split('\n').filter((line) => line.startsWith('[compiling method'));
  if (lines.length === 0) throw new Error('--trace-opt wrote no `[compiling method` line: its format changed');
  return lines.map((line) => ({ fn: /<JSFunction (\S+)/.exec(line)?.[1] ?? '', compiler: /target ([A-Z]+)/.exec(line)?.[1] ?? line }));
}
