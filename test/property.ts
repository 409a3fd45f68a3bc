// The property tests run hundreds of cases each, all on the processor: a few seconds alone, and as many
// times that as the machine is loaded over its cores (20.7 s once, with three test files and other work on
// two cores). A fixed number of runs cannot hang, so the suite's 20 s, there to end a test that waits for
// something that never comes, is no limit for them.
export const PROPERTY_TEST_TIMEOUT_MS = 120_000;
