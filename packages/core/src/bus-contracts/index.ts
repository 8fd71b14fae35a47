export * from './asyncapi.ts';
export * from './payload-by-subject.ts';
export * from './payload-schemas.ts';
export * from './reply-envelope.ts';
export * from './subjects.ts';
