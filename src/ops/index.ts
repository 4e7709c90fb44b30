/**
 * The operators layer: tree reduce and pipelined map, built only on the
 * public core API.
 */
export { aggList } from "./tree-reduce.js";
export { aggListDistributed, lastAggListDecision } from "./distributed-reduce.js";
export { mapPipelined } from "./pipelined-map.js";
export { pipeline, Pipeline } from "./pipeline.js";
export { MapItemError } from "./item-error.js";
export { planChunks } from "./chunk-plan.js";
export { ActorPool } from "./actor-pool.js";

export type { Combiner } from "./tree-reduce.js";
export type { AggListDistributedOptions, AggListDecision, RemoteCombiner } from "./distributed-reduce.js";
export type { MapPipelinedOptions, Mapper, MapInputs } from "./pipelined-map.js";
export type { PipelineOptions, StageOptions } from "./pipeline.js";
export type { ChunkPlan, CostFigures } from "./chunk-plan.js";
export type { GetNextOptions, PoolTask } from "./actor-pool.js";
