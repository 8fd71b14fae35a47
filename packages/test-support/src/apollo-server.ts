import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ApolloPlaceFixture {
  name: string;
  category?: string;
  lat: number;
  lon: number;
  distance_m?: number;
  notes?: string;
}

/** How the next requests are answered; the default is `{ places }` at once. */
export interface ApolloBehaviour {
  /** Wait this long before answering (a slow Apollo). */
  delayMs?: number;
  /** Answer with this status (and `body`, or an error object). */
  status?: number;
  /** Answer with this raw text instead of `{ places }` (garbage). */
  body?: string;
}

export interface ScriptedApollo {
  url: string;
  /** What `/v1/places/nearby` answers (every place, as given); edit freely between requests. */
  places: ApolloPlaceFixture[];
  behaviour: ApolloBehaviour;
  /** The query strings asked for, in order, with the Authorization header each came with. */
  requests: { query: Record<string, string>; authorization: string | undefined }[];
  close(): Promise<void>;
}

/**
 * Apollo's personal-places lookup as Lumen reads it (docs/insights.md): `GET
 * /v1/places/nearby?lat=&lon=&radius_m=&limit=` answers `{ places: [{ name, category?, lat, lon,
 * distance_m?, notes? }] }`; with a `token`, requests without `Authorization: Bearer <token>` get 401.
 */
export async function startScriptedApollo(
  init: { token?: string; places?: ApolloPlaceFixture[] } = {},
): Promise<ScriptedApollo> {
  const state: ScriptedApollo = {
    url: '',
    places: init.places ?? [],
    behaviour: {},
    requests: [],
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'GET' || url.pathname !== '/v1/places/nearby') {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    state.requests.push({
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
    });
    if (init.token !== undefined && req.headers.authorization !== `Bearer ${init.token}`) {
      res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"error":"bad token"}');
      return;
    }
    const { delayMs = 0, status = 200, body } = state.behaviour;
    const timer = setTimeout(() => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(body ?? JSON.stringify(status === 200 ? { places: state.places } : { error: 'scripted' }));
    }, delayMs);
    res.on('close', () => clearTimeout(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
