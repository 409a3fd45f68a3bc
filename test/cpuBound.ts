// Tests whose time goes on the processor, their own or that of a Node process they start: the property
// tests' hundreds of runs, and the V8 tests' processes, which make and collect millions of objects. A few
// seconds alone, and as many times that as the machine is loaded over its cores (a property test took
// 20.7 s once, with three test files and other work on two cores). A fixed amount of work cannot hang, so
// the suite's 20 s, there to end a test that waits for something that never comes, is no limit for them.
export const CPU_BOUND_TEST_TIMEOUT_MS = 120_000;
