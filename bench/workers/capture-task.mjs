// The shape raycompile emits for seed 004's `foo2` (a function reading a
// module-level array): a factory that receives the captured values, put once
// by the driver and handed over by ref, and returns the task. Written by hand
// here so the large-args suite can show the mechanism without the compiler.
export function peekCaptured({ A }) {
  return (j) => A[j] ** 2;
}
