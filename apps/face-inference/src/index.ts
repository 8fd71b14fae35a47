export { type AppDeps, createApp, DEFAULT_MAX_FACES, DEFAULT_MIN_SCORE } from './app.ts';
export { type FaceInferenceChild, spawnFaceInference } from './child.ts';
export * from './face-model.ts';
export { HUMAN_MODEL_NAME, HumanFaceModel } from './human-model.ts';
export { decodeUpright } from './image-decode.ts';
export { encodeEmbedding, InferenceService } from './inference.service.ts';
export { type FaceInferenceDeps, type FaceInferenceHandle, start } from './start.ts';
