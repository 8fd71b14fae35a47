/** Payloads travel as JSON on both transports (`undefined` becomes `null`). */

export function encodeJson(data: unknown): string {
  return JSON.stringify(data) ?? 'null';
}

export function decodeJson<T>(text: string): T {
  return JSON.parse(text) as T;
}
