import type { Config } from '@lumen/core';
import {
  type Database,
  InsightsRepository,
  LibrariesRepository,
  PhotosRepository,
  SummaryVectorsRepository,
  TagsRepository,
} from '@lumen/db';
import type { Logger } from '@lumen/runtime';
import type { App } from '../http/app-env.ts';
import type { ImagesService } from '../services/images.service.ts';
import { ApolloPlacesClient } from '../services/insights/apollo-places.ts';
import { ConversationSummariesService } from '../services/insights/conversation-summaries.service.ts';
import { InsightBackends } from '../services/insights/insight-backends.ts';
import { InsightChatService } from '../services/insights/insight-chat.service.ts';
import { InsightLocks } from '../services/insights/insight-locks.ts';
import { InsightPhotoLoader } from '../services/insights/insight-photo.ts';
import { InsightTools } from '../services/insights/insight-tools.ts';
import { InsightsService } from '../services/insights/insights.service.ts';
import { OfflineGeocoder } from '../services/insights/offline-geocoder.ts';
import type { LibrariesService } from '../services/libraries.service.ts';
import { PhotoLocator } from '../services/photo-locator.ts';
import { registerInsightsRoutes } from './insights.routes.ts';

/**
 * AI insights (SPEC 7), wired: backends from the config, the tools, generation and chat services.
 * With no backend configured every route answers 503 naming the setting; the rest of the api is
 * untouched.
 */
export function registerInsightFeature(
  app: App,
  deps: {
    config: Config;
    database: Database;
    logger: Logger;
    libraries: LibrariesService;
    images: ImagesService;
  },
): void {
  const { db, kind } = deps.database;
  const env = deps.config.env;
  const logger = deps.logger.child({ component: 'insights' });
  const photosRepo = new PhotosRepository(db, kind);
  const backends = new InsightBackends(deps.config);
  const repo = new InsightsRepository(db);
  const photos = new InsightPhotoLoader(
    new PhotoLocator(new LibrariesRepository(db), photosRepo),
    deps.images,
    logger,
  );
  const tools = new InsightTools({
    photos: photosRepo,
    tags: new TagsRepository(db),
    geocoder: new OfflineGeocoder(),
    nominatimUrl: env.NOMINATIM_URL,
    // Conversation search needs Ollama's embedding model.
    conversations: backends.ollama ? conversationSummaries(deps, backends, logger) : undefined,
    places: env.APOLLO_API_BASE_URL
      ? new ApolloPlacesClient({
          baseUrl: env.APOLLO_API_BASE_URL,
          token: env.APOLLO_API_TOKEN,
          timeoutMs: env.APOLLO_PLACES_TIMEOUT_SECONDS * 1000,
        })
      : undefined,
    logger,
  });
  registerInsightsRoutes(app, {
    insights: new InsightsService({
      backends,
      repo,
      photos,
      tools,
      maxIterations: env.AGENTIC_MAX_ITERATIONS,
      logger,
    }),
    chat: new InsightChatService({
      backends,
      repo,
      photos,
      tools,
      locks: new InsightLocks(),
      maxIterations: env.AGENTIC_CHAT_MAX_ITERATIONS,
      logger,
    }),
    heartbeatMs: env.INSIGHTS_HEARTBEAT_SECONDS * 1000,
  });
}

/** The summaries service (run by the CLI; its search is the `search_conversations` tool). */
export function conversationSummaries(
  deps: { config: Config; database: Database },
  backends: InsightBackends,
  logger: Logger,
): ConversationSummariesService {
  const env = deps.config.env;
  return new ConversationSummariesService({
    backends,
    repo: new SummaryVectorsRepository(deps.database.db, deps.database.kind),
    smsUrl: env.SMS_API_URL,
    smsToken: env.SMS_API_TOKEN,
    embedModel: env.OLLAMA_EMBED_MODEL,
    logger,
  });
}
