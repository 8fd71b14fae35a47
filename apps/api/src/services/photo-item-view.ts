import type { PhotoItem } from '@lumen/db';

/** One photo or video as `/photos`, `/favorites` and `/memories` list it (see PhotoItemSchema). */
export interface PhotoItemView {
  id: number;
  /** The library's name. */
  library: string;
  library_id: number;
  /** Relative to the library root. */
  path: string;
  file_name: string;
  media_type: 'photo' | 'video';
  is_raw: boolean;
  mime_type: string | null;
  size_bytes: number;
  date_taken: string | null;
  date_taken_offset: string | null;
  width: number | null;
  height: number | null;
  orientation: number | null;
  gps: { lat: number; lon: number; alt: number | null } | null;
  camera_make: string | null;
  camera_model: string | null;
  lens_model: string | null;
  content_hash: string | null;
  duration_sec: number | null;
  thumb_status: string;
  preview_status: string;
  tag_ids: number[];
  favorite: boolean;
  /** `/image?path=...&library=<id>&size=thumb`, relative to the api's base URL. */
  thumbnail_url: string;
}

/** The URL of a photo's thumbnail on this api (library by id: unambiguous, and names need no escaping). */
export function thumbnailUrl(libraryId: number, relPath: string): string {
  return `/image?path=${encodeURIComponent(relPath)}&library=${libraryId}&size=thumb`;
}

export function toPhotoItemView(item: PhotoItem): PhotoItemView {
  return {
    id: item.id,
    library: item.library,
    library_id: item.library_id,
    path: item.rel_path,
    file_name: item.file_name,
    media_type: item.media_type,
    is_raw: item.is_raw,
    mime_type: item.mime_type,
    size_bytes: item.size_bytes,
    date_taken: item.date_taken,
    date_taken_offset: item.date_taken_offset,
    width: item.width,
    height: item.height,
    orientation: item.orientation,
    gps:
      item.gps_lat !== null && item.gps_lon !== null
        ? { lat: item.gps_lat, lon: item.gps_lon, alt: item.gps_alt }
        : null,
    camera_make: item.camera_make,
    camera_model: item.camera_model,
    lens_model: item.lens_model,
    content_hash: item.content_hash,
    duration_sec: item.duration_sec,
    thumb_status: item.thumb_status,
    preview_status: item.preview_status,
    tag_ids: item.tag_ids,
    favorite: item.favorite,
    thumbnail_url: thumbnailUrl(item.library_id, item.rel_path),
  };
}
