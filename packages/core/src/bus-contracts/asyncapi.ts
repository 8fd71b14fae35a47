import { z } from 'zod';
import {
  type VideoRequestSubject,
  videoRequestContracts,
  videoRequestSubjects,
} from '../video/video-requests.ts';
import { payloadSchemas } from './payload-by-subject.ts';
import { PAYLOAD_VERSION } from './payload-schemas.ts';
import { replyEnvelopeSchema } from './reply-envelope.ts';
import { deadLetter, eventSubjects, jobSubjects, type Subject } from './subjects.ts';

/**
 * The event contract for people who consume our NATS subjects, as an AsyncAPI 3 document made
 * from the zod payload schemas (the same ones the bus checks every message against). Checked in
 * as docs/asyncapi.json (a test fails when a schema changes and the file does not) and served by
 * the api at `GET /asyncapi.json`. The transport's naming (packages/bus/src/nats-bus.ts):
 * events are core NATS subjects `<prefix>.<subject>`; jobs are JetStream messages on
 * `<prefix>_jobs.<subject>` in the work-queue stream `<prefix>_JOBS`; a job that failed its
 * last attempt is published as an event on `<prefix>.dlq.<subject>`; requests are core NATS
 * requests on `<prefix>_rpc.<subject>`, answered on the asker's inbox.
 */

const DESCRIPTIONS: Record<Subject, string> = {
  'media.ingested':
    'The watcher stored a new or changed file (photo, RAW or video). Sent once per ingest of a file; `isNew` is false when a known file changed or was read again. A video is also enqueued as a video.ingested job for the transcoder (this event may be missed; that job may not).',
  'media.uploaded':
    'Job: the api wrote a new file into a library (an upload); one watcher replica ingests it at once instead of at its next scan, acknowledges it once the row is written, then sends media.ingested. Enqueued while no watcher runs, it is ingested when one starts.',
  'library.status':
    'A library turned Online or Stale (its mount answered or stopped answering); `previous` is the state before.',
  'video.status':
    'Progress of an HLS or preview-clip job, from the transcoder: queued, running, ready or failed. While a job runs, `running` is sent again every `heartbeatMs` (a third of the ack wait); a `running` not repeated for two intervals means the worker died and the job is back in the queue.',
  'video.hls': 'Job: make the HLS playlists and segments of a video (content-addressed by its hash).',
  'video.preview': 'Job: make the short looping preview clip (and GIF) of a video.',
  'video.ingested':
    'Job: the watcher stored a new or changed video (the media.ingested payload). One transcoder replica enqueues the video.hls and video.preview jobs for the outputs the video lacks (none when they exist or failed for good), so a video ingested while no transcoder runs gets its outputs in the background when one starts.',
};

const REQUEST_DESCRIPTIONS: Record<VideoRequestSubject, string> = {
  'video.stream.plan':
    'Request: plan the HLS stream of a video (ffprobe) unless it is planned, and answer with the plan (its stream.json). The api asks when a viewer opens a video whose stream is not planned yet.',
  'video.segment':
    'Request: make one HLS segment of a planned stream now (starting or joining an ffmpeg run) and answer once it is on disk; `made` says whether a run made it or it was already there. The api asks when a viewer wants a segment that is not made yet.',
};

const EVENT_DELIVERY =
  'At most once: a plain NATS subject. A consumer that is not connected when it is sent does not get it; every state it announces can also be read from the HTTP API.';
const JOB_DELIVERY =
  'At least once: a JetStream work-queue message, shared by every replica of its worker through one durable pull consumer, so one job runs on one worker at a time. It waits in the stream until a worker acknowledges it: a job enqueued while no worker runs is handled when one starts. A job is redelivered when its worker does not acknowledge it within the ack wait (the worker heartbeats while it works), and retried with a backoff; after its last attempt it is published on the dead-letter subject with the error. Duplicates sent within the stream duplicate window (2 min) with the same message id are dropped.';

const REQUEST_DELIVERY =
  'Request/reply, nothing stored: a core NATS request that one transcoder replica answers (they all listen in the queue group `responders`). With no replica listening the asker gets "no responders" at once; otherwise it waits up to its own timeout. The reply goes to the reply subject (inbox) of the request.';

const REPLY_SUMMARY =
  "The responder's answer as `{ ok: true, data }`, or `{ ok: false, error }` when it failed (packages/bus/src/request-reply.ts).";

/** `media.ingested` -> `mediaIngested`. */
function camel(subject: string): string {
  return subject.replace(/[.-]([a-z])/g, (_, c: string) => c.toUpperCase());
}

function messageName(subject: string): string {
  const name = camel(subject);
  return `${name[0]!.toUpperCase()}${name.slice(1)}`;
}

/**
 * The JSON Schema of a payload as it travels: by default as the bus delivers it (with `v`
 * present: producers stamp it); `input` for what a responder accepts (a request may leave `v` out).
 */
function payloadJsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

const deadLetterSchema = {
  type: 'object',
  description: 'A job that failed its last attempt, or broke its contract.',
  properties: {
    subject: { type: 'string', description: 'The job subject, e.g. video.hls.' },
    data: { description: 'The job payload as it was sent.' },
    attempts: { type: 'integer', minimum: 1 },
    error: { type: 'string', description: 'Why the last attempt failed.' },
  },
  required: ['subject', 'data', 'attempts', 'error'],
};

export interface AsyncApiOptions {
  /** The deployment's `BUS_PREFIX` as the default of the `prefix` parameter (default `lumen`). */
  prefix?: string;
  /** Written into `info.version`. */
  version?: string;
}

/** The AsyncAPI 3.0 document of every subject (events, jobs, requests), its payloads and its delivery guarantee. */
export function buildAsyncApiDocument(opts: AsyncApiOptions = {}): Record<string, unknown> {
  const prefix = opts.prefix ?? 'lumen';
  const prefixParameter = {
    prefix: {
      description: 'The deployment prefix (BUS_PREFIX) that namespaces every subject, stream and consumer.',
      default: prefix,
    },
  };
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};

  const add = (subject: Subject, kind: 'event' | 'job') => {
    const name = camel(subject);
    const message = messageName(subject);
    schemas[message] = payloadJsonSchema(payloadSchemas[subject]);
    messages[message] = {
      name: message,
      title: subject,
      summary: DESCRIPTIONS[subject],
      contentType: 'application/json',
      payload: { $ref: `#/components/schemas/${message}` },
    };
    channels[name] = {
      address: kind === 'event' ? `{prefix}.${subject}` : `{prefix}_jobs.${subject}`,
      title: subject,
      description: `${DESCRIPTIONS[subject]}\n\nDelivery: ${kind === 'event' ? EVENT_DELIVERY : JOB_DELIVERY}`,
      parameters: prefixParameter,
      messages: { [message]: { $ref: `#/components/messages/${message}` } },
      ...(kind === 'job'
        ? {
            bindings: {
              // The one durable pull consumer every replica of the worker shares (packages/bus
              // jobConsumerName; no job subject holds `_`, so no hash suffix).
              'x-jetstream': { stream: '{prefix}_JOBS', durable: `{prefix}_${subject.replaceAll('.', '_')}` },
            },
          }
        : {}),
    };
    operations[`send${message}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${name}` },
      summary: kind === 'event' ? `Lumen sends ${subject}.` : `Lumen enqueues ${subject} jobs.`,
      messages: [{ $ref: `#/channels/${name}/messages/${message}` }],
    };
    if (kind === 'job') {
      operations[`receive${message}`] = {
        action: 'receive',
        channel: { $ref: `#/channels/${name}` },
        summary: `A worker takes ${subject} jobs from the shared durable consumer.`,
        messages: [{ $ref: `#/channels/${name}/messages/${message}` }],
      };
      const dlqName = camel(deadLetter(subject));
      channels[dlqName] = {
        address: `{prefix}.${deadLetter(subject)}`,
        title: deadLetter(subject),
        description: `A ${subject} job after its last failed attempt. Delivery: ${EVENT_DELIVERY}`,
        parameters: prefixParameter,
        messages: { DeadLetter: { $ref: '#/components/messages/DeadLetter' } },
      };
      operations[`send${messageName(deadLetter(subject))}`] = {
        action: 'send',
        channel: { $ref: `#/channels/${dlqName}` },
        messages: [{ $ref: `#/channels/${dlqName}/messages/DeadLetter` }],
      };
    }
  };
  const addRequest = (subject: VideoRequestSubject) => {
    const name = camel(subject);
    const replyName = `${name}Reply`;
    const request = `${messageName(subject)}Request`;
    const reply = `${messageName(subject)}Reply`;
    const contract = videoRequestContracts[subject];
    schemas[request] = payloadJsonSchema(contract.request, 'input');
    schemas[reply] = payloadJsonSchema(replyEnvelopeSchema(contract.reply));
    messages[request] = {
      name: request,
      title: subject,
      summary: REQUEST_DESCRIPTIONS[subject],
      contentType: 'application/json',
      payload: { $ref: `#/components/schemas/${request}` },
    };
    messages[reply] = {
      name: reply,
      title: `${subject} reply`,
      summary: REPLY_SUMMARY,
      contentType: 'application/json',
      payload: { $ref: `#/components/schemas/${reply}` },
    };
    channels[name] = {
      address: `{prefix}_rpc.${subject}`,
      title: subject,
      description: `${REQUEST_DESCRIPTIONS[subject]}\n\nDelivery: ${REQUEST_DELIVERY}`,
      parameters: prefixParameter,
      messages: { [request]: { $ref: `#/components/messages/${request}` } },
    };
    // The inbox NATS makes for each request: known only at run time, hence no address.
    channels[replyName] = {
      address: null,
      title: `${subject} reply`,
      description: `The reply to a ${subject} request, on the reply subject (inbox) the request carries.`,
      messages: { [reply]: { $ref: `#/components/messages/${reply}` } },
    };
    const operation = {
      channel: { $ref: `#/channels/${name}` },
      messages: [{ $ref: `#/channels/${name}/messages/${request}` }],
      reply: {
        channel: { $ref: `#/channels/${replyName}` },
        messages: [{ $ref: `#/channels/${replyName}/messages/${reply}` }],
      },
    };
    operations[`request${messageName(subject)}`] = {
      action: 'send',
      summary: `The api asks ${subject} and waits for the reply.`,
      ...operation,
    };
    operations[`answer${messageName(subject)}`] = {
      action: 'receive',
      summary: `One transcoder replica answers ${subject}.`,
      ...operation,
      bindings: { nats: { queue: 'responders', bindingVersion: '0.1.0' } },
    };
  };
  for (const subject of Object.values(eventSubjects)) add(subject, 'event');
  for (const subject of Object.values(jobSubjects)) add(subject, 'job');
  for (const subject of Object.values(videoRequestSubjects)) addRequest(subject);
  schemas.DeadLetter = deadLetterSchema;
  messages.DeadLetter = {
    name: 'DeadLetter',
    contentType: 'application/json',
    payload: { $ref: '#/components/schemas/DeadLetter' },
  };

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Lumen events, jobs and requests',
      version: opts.version ?? `${PAYLOAD_VERSION}.0.0`,
      description: `The NATS subjects Lumen's services talk over. Every payload is JSON and carries \`v\` (the contract version, now ${PAYLOAD_VERSION}); a consumer should drop a payload whose \`v\` it does not know. A new optional field keeps the version; a removed or changed field makes a new one. See docs/events.md for an example consumer.`,
    },
    defaultContentType: 'application/json',
    servers: {
      nats: {
        host: '127.0.0.1:4222',
        protocol: 'nats',
        description: 'Your NATS server (NATS_URL), with JetStream for the jobs.',
      },
    },
    channels,
    operations,
    components: { messages, schemas },
  };
}
