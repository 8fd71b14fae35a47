export * from './face-autobind.ts';
export * from './face-client.ts';
export * from './face-clusterer.ts';
export * from './face-detection.ts';
export * from './face-image.ts';
export * from './faces-config.ts';
