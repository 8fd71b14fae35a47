/**
 * Bus subject names. Events are broadcasts on plain subjects, for what may be missed; jobs go
 * through the work queue (durable until acked, redelivered, dead-lettered to `dlq.<subject>`), for
 * what a service must not miss (docs/events.md, "Delivery"). The transport may add a deployment
 * prefix (`BUS_PREFIX`); these are the names the apps use.
 */

export const eventSubjects = {
  /** The watcher stored a new or changed file. */
  mediaIngested: 'media.ingested',
  /** A library turned Online or Stale. */
  libraryStatus: 'library.status',
  /** Progress of an HLS or preview-clip job, from the transcoder. */
  videoStatus: 'video.status',
} as const;

export const jobSubjects = {
  /** The api wrote a new file into a library (upload): one watcher ingests it at once. */
  mediaUploaded: 'media.uploaded',
  /** The watcher stored a new or changed video: the transcoder makes the outputs it lacks. */
  videoIngested: 'video.ingested',
  /** Make the HLS playlist and segments of a video. */
  videoHls: 'video.hls',
  /** Make the short looping preview clip of a video. */
  videoPreview: 'video.preview',
} as const;

/** Every subject by name: `subjects.mediaIngested`, `subjects.videoHls`, ... */
export const subjects = { ...eventSubjects, ...jobSubjects } as const;

export type EventSubject = (typeof eventSubjects)[keyof typeof eventSubjects];
export type JobSubject = (typeof jobSubjects)[keyof typeof jobSubjects];
export type Subject = EventSubject | JobSubject;

/** Where a job lands after its last failed attempt: `deadLetter('video.hls')` -> `dlq.video.hls`. */
export function deadLetter<S extends string>(subject: S): `dlq.${S}` {
  return `dlq.${subject}`;
}
