/**
 * The core helpers that code built on rayts inside this package (the
 * operators in `src/ops`) may use beyond the public API (`./index.js`):
 * argument validation with rayts's messages, the check that a function can
 * be shipped as source, and memory kept for the life of a runtime. Nothing
 * here is exported from the package.
 */
export { checkBoolean, checkInteger, checkOptions, show } from "./api/checks.js";
export {
  checkFunction,
  checkFunctionOrRemote,
  checkInputs,
  checkNotEmpty,
  checkSequence,
  checkSequenceOrRef,
  describe,
  isRemoteFunction,
} from "./api/operator-checks.js";
export { shippableSource } from "./api/remote-function.js";
export { runtimeScoped } from "./runtime/global-state.js";
export { allocateSharedBlock } from "./store/shared-blocks.js";
