/** Runs a bench's main and exits with its code; a throw is printed and exits 1. */
export async function runBench(main: () => Promise<number>): Promise<never> {
  let code = 1;
  try {
    code = await main();
  } catch (err) {
    console.error(`\nbench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  process.exit(code);
}
