export * from './face-client.ts';
export * from './faces-config.ts';
