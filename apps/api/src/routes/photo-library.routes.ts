import type { Bus } from '@lumen/bus';
import type { Config } from '@lumen/core';
import {
  type Database,
  FacesRepository,
  FavoritesRepository,
  faceVectorIndex,
  LibrariesRepository,
  MemoriesRepository,
  PersonsRepository,
  PhotosRepository,
  type ReadCache,
  TagsRepository,
} from '@lumen/db';
import { autoBindContent, faceClientFromConfig } from '@lumen/faces';
import type { Logger } from '@lumen/runtime';
import type { App } from '../http/app-env.ts';
import { FacesService } from '../services/faces.service.ts';
import { FavoritesService } from '../services/favorites.service.ts';
import type { LibrariesService } from '../services/libraries.service.ts';
import { MemoriesService } from '../services/memories.service.ts';
import { PersonsService } from '../services/persons.service.ts';
import { PhotoLocator } from '../services/photo-locator.ts';
import { PhotosService } from '../services/photos.service.ts';
import { TagsService } from '../services/tags.service.ts';
import { UploadService } from '../services/upload.service.ts';
import { uploadStagingDir } from '../services/upload-staging-sweep.ts';
import { registerFacesRoutes } from './faces.routes.ts';
import { registerFavoritesRoutes } from './favorites.routes.ts';
import { registerMemoriesRoutes } from './memories.routes.ts';
import { registerPersonsRoutes } from './persons.routes.ts';
import { registerPhotosRoutes } from './photos.routes.ts';
import { registerTagsRoutes } from './tags.routes.ts';
import { registerUploadRoutes } from './upload.routes.ts';

/**
 * The photo-library endpoints (issue 4), each a thin route over one service: search (`/photos`),
 * tags (`/image/tags*`), favorites, memories and upload (`POST /image`).
 */
export function registerPhotoLibraryRoutes(
  app: App,
  deps: {
    config: Config;
    database: Database;
    bus: Bus;
    logger: Logger;
    libraries: LibrariesService;
    /** Keeps /photos totals until the database changes. */
    reads: ReadCache;
  },
): void {
  const { db, kind } = deps.database;
  const photosRepo = new PhotosRepository(db, kind, { countCache: deps.reads });
  const locator = new PhotoLocator(new LibrariesRepository(db), photosRepo);
  const photos = new PhotosService(photosRepo, locator);

  registerPhotosRoutes(app, { photos });
  const facesRepo = new FacesRepository(db, kind);
  const personsRepo = new PersonsRepository(db);
  const minCos = deps.config.env.FACE_AUTOBIND_MIN_COS;
  // Tagging a photo with a person's name binds its face (SPEC 6 auto-bind).
  const onTagged = async (contentHashes: readonly string[]) => {
    for (const hash of new Set(contentHashes)) {
      await autoBindContent({ faces: facesRepo, persons: personsRepo, minCos }, hash);
    }
  };
  registerTagsRoutes(app, { tags: new TagsService(new TagsRepository(db), locator, onTagged) });
  registerFacesRoutes(app, {
    faces: new FacesService({
      faces: facesRepo,
      persons: personsRepo,
      vectors: faceVectorIndex(deps.database),
      locator,
      client: faceClientFromConfig(deps.config, deps.logger),
      thumbnailsDir: deps.config.thumbnailsDir,
      previewSize: deps.config.env.PREVIEW_SIZE,
      autobindMinCos: minCos,
      logger: deps.logger.child({ component: 'faces' }),
    }),
  });
  registerPersonsRoutes(app, { persons: new PersonsService(personsRepo, facesRepo), photos });
  registerFavoritesRoutes(app, {
    favorites: new FavoritesService(new FavoritesRepository(db), locator, photos),
  });
  registerMemoriesRoutes(app, {
    memories: new MemoriesService(new MemoriesRepository(db, kind), locator, deps.config.excludedDirs),
  });
  registerUploadRoutes(app, {
    uploads: new UploadService({
      libraries: deps.libraries,
      bus: deps.bus,
      logger: deps.logger.child({ component: 'upload' }),
      maxBytes: deps.config.env.UPLOAD_MAX_BYTES,
      stagingDir: uploadStagingDir(deps.config.dataDir),
    }),
  });
}
