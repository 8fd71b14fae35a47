import type { Config } from '@lumen/core';
import type { Logger } from 'pino';
import { FaceClient } from './face-client.ts';

let offLogged = false;

/**
 * The face client of this configuration, or undefined when faces are off (SPEC 6: neither
 * APOLLO_FACE_API_BASE_URL nor APOLLO_API_BASE_URL set). Off is said once per process, at info.
 */
export function faceClientFromConfig(
  config: Pick<Config, 'faces' | 'env'>,
  logger: Logger,
): FaceClient | undefined {
  const baseUrl = config.faces.apiBaseUrl;
  if (!baseUrl) {
    if (!offLogged) {
      offLogged = true;
      logger.info(
        'faces off: no face-inference service configured (APOLLO_FACE_API_BASE_URL, APOLLO_API_BASE_URL)',
      );
    }
    return undefined;
  }
  return new FaceClient({ baseUrl, requestTimeoutMs: config.env.FACE_DETECT_TIMEOUT_SEC * 1000 });
}
