import fs from 'node:fs/promises';
import path from 'node:path';
import { runTool } from '@lumen/media';
import sharp from 'sharp';

/**
 * A small library made locally on first start when no library is configured:
 * a dozen photos with EXIF (camera, date with offset, GPS) drawn with sharp,
 * and two short videos made with ffmpeg. Nothing is downloaded.
 */

interface SamplePhoto {
  file: string;
  place: string;
  lat: number;
  lon: number;
  /** Years before now; the date is this week of that year, so memories have something to show. */
  yearsAgo: number;
  dayShift: number;
  offset: string;
  colors: [string, string];
  orientation?: number;
}

const PHOTOS: SamplePhoto[] = [
  {
    file: 'trips/paris/eiffel.jpg',
    place: 'Paris',
    lat: 48.8584,
    lon: 2.2945,
    yearsAgo: 1,
    dayShift: 0,
    offset: '+02:00',
    colors: ['#f4a261', '#264653'],
  },
  {
    file: 'trips/paris/louvre.jpg',
    place: 'Paris',
    lat: 48.8606,
    lon: 2.3376,
    yearsAgo: 1,
    dayShift: 1,
    offset: '+02:00',
    colors: ['#e9c46a', '#2a9d8f'],
  },
  {
    file: 'trips/tokyo/shibuya.jpg',
    place: 'Tokyo',
    lat: 35.6595,
    lon: 139.7005,
    yearsAgo: 2,
    dayShift: -1,
    offset: '+09:00',
    colors: ['#ff006e', '#3a86ff'],
  },
  {
    file: 'trips/tokyo/fuji.jpg',
    place: 'Fuji',
    lat: 35.3606,
    lon: 138.7274,
    yearsAgo: 2,
    dayShift: 2,
    offset: '+09:00',
    colors: ['#8ecae6', '#023047'],
    orientation: 6,
  },
  {
    file: 'trips/new-york/central-park.jpg',
    place: 'New York',
    lat: 40.7829,
    lon: -73.9654,
    yearsAgo: 3,
    dayShift: 0,
    offset: '-04:00',
    colors: ['#90be6d', '#277da1'],
  },
  {
    file: 'trips/sydney/opera.jpg',
    place: 'Sydney',
    lat: -33.8568,
    lon: 151.2153,
    yearsAgo: 4,
    dayShift: 1,
    offset: '+10:00',
    colors: ['#ffb703', '#fb8500'],
  },
  {
    file: 'trips/cape-town/table-mountain.jpg',
    place: 'Cape Town',
    lat: -33.9628,
    lon: 18.4098,
    yearsAgo: 5,
    dayShift: -2,
    offset: '+02:00',
    colors: ['#cdb4db', '#5e548e'],
  },
  {
    file: 'home/garden.jpg',
    place: 'Home',
    lat: 52.52,
    lon: 13.405,
    yearsAgo: 0,
    dayShift: -40,
    offset: '+01:00',
    colors: ['#52b788', '#081c15'],
  },
  {
    file: 'home/kitchen.jpg',
    place: 'Home',
    lat: 52.52,
    lon: 13.405,
    yearsAgo: 0,
    dayShift: -90,
    offset: '+01:00',
    colors: ['#f28482', '#84a59d'],
  },
  {
    file: 'home/cat.png',
    place: 'Home',
    lat: 52.52,
    lon: 13.405,
    yearsAgo: 6,
    dayShift: 3,
    offset: '+01:00',
    colors: ['#ffd6a5', '#9b5de5'],
  },
  {
    file: 'reykjavik.webp',
    place: 'Reykjavik',
    lat: 64.1466,
    lon: -21.9426,
    yearsAgo: 7,
    dayShift: 0,
    offset: '+00:00',
    colors: ['#caf0f8', '#03045e'],
  },
  {
    file: 'rio.jpg',
    place: 'Rio de Janeiro',
    lat: -22.9519,
    lon: -43.2105,
    yearsAgo: 8,
    dayShift: -3,
    offset: '-03:00',
    colors: ['#06d6a0', '#118ab2'],
  },
];

const pad = (n: number) => String(n).padStart(2, '0');

/** EXIF date text (local wall time at `offset`) for an instant. */
function exifDate(instant: Date, offset: string): string {
  const sign = offset.startsWith('-') ? -1 : 1;
  const [h, m] = offset.slice(1).split(':').map(Number);
  const local = new Date(instant.getTime() + sign * ((h ?? 0) * 60 + (m ?? 0)) * 60_000);
  return `${local.getUTCFullYear()}:${pad(local.getUTCMonth() + 1)}:${pad(local.getUTCDate())} ${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
}

/** Degrees to the EXIF rational triple libvips understands. */
function dms(value: number): string {
  const abs = Math.abs(value);
  const d = Math.floor(abs);
  const mFloat = (abs - d) * 60;
  const m = Math.floor(mFloat);
  const s = Math.round((mFloat - m) * 60 * 1000);
  return `${d}/1 ${m}/1 ${s}/1000`;
}

function svg(photo: SamplePhoto, width: number, height: number): Buffer {
  const [a, b] = photo.colors;
  const circles = Array.from({ length: 7 }, (_, i) => {
    const cx = ((i * 37 + photo.lat * 3) % 100) / 100;
    const cy = ((i * 53 + Math.abs(photo.lon)) % 100) / 100;
    return `<circle cx="${cx * width}" cy="${cy * height}" r="${(40 + i * 25) * (width / 1600)}" fill="white" fill-opacity="0.18"/>`;
  }).join('');
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
      <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${a}"/><stop offset="1" stop-color="${b}"/></linearGradient></defs>
      <rect width="100%" height="100%" fill="url(#g)"/>${circles}
      <rect x="${width * 0.08}" y="${height * 0.78}" width="${width * 0.5}" height="${height * 0.1}" fill="black" fill-opacity="0.25"/>
    </svg>`,
  );
}

async function writePhoto(root: string, photo: SamplePhoto, now: Date): Promise<void> {
  const target = path.join(root, photo.file);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const taken = new Date(now);
  taken.setUTCFullYear(now.getUTCFullYear() - photo.yearsAgo);
  taken.setUTCDate(taken.getUTCDate() + photo.dayShift);
  taken.setUTCHours(10, 30, 0, 0);
  const date = exifDate(taken, photo.offset);
  const image = sharp(svg(photo, 1600, 1200)).withExif({
    IFD0: {
      Make: 'Lumen',
      Model: 'Sample Camera',
      DateTime: date,
      ImageDescription: photo.place,
      ...(photo.orientation ? { Orientation: String(photo.orientation) } : {}),
    },
    IFD2: { DateTimeOriginal: date, OffsetTimeOriginal: photo.offset, FNumber: '28/10', FocalLength: '35/1' },
    IFD3: {
      GPSLatitudeRef: photo.lat >= 0 ? 'N' : 'S',
      GPSLatitude: dms(photo.lat),
      GPSLongitudeRef: photo.lon >= 0 ? 'E' : 'W',
      GPSLongitude: dms(photo.lon),
    },
  });
  const ext = path.extname(photo.file).toLowerCase();
  const tmp = `${target}.tmp`;
  if (ext === '.png') await image.png().toFile(tmp);
  else if (ext === '.webp') await image.webp({ quality: 80 }).toFile(tmp);
  else await image.jpeg({ quality: 85 }).toFile(tmp);
  await fs.rename(tmp, target);
}

async function writeVideo(target: string, args: string[]): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp${path.extname(target)}`;
  await runTool('ffmpeg', ['-y', '-hide_banner', '-loglevel', 'error', ...args, tmp], { timeout: 120_000 });
  await fs.rename(tmp, target);
}

export const SAMPLE_MARKER = '.lumen-sample';

/**
 * Create the sample library under `root` unless it is already there.
 * Returns true when it was created now.
 */
export async function ensureSampleLibrary(root: string, now = new Date()): Promise<boolean> {
  const marker = path.join(root, SAMPLE_MARKER);
  try {
    await fs.access(marker);
    return false;
  } catch {
    // not made yet
  }
  await fs.mkdir(root, { recursive: true });
  for (const photo of PHOTOS) await writePhoto(root, photo, now);
  const year = now.getUTCFullYear() - 1;
  const creation = `${year}-${pad(now.getUTCMonth() + 1)}-${pad(now.getUTCDate())}T09:00:00Z`;
  await writeVideo(path.join(root, 'videos/test-pattern.mp4'), [
    ...['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=6'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:duration=6'],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest'],
    ...['-metadata', `creation_time=${creation}`, '-movflags', '+faststart'],
  ]);
  await writeVideo(path.join(root, 'videos/mandelbrot.webm'), [
    ...['-f', 'lavfi', '-i', 'mandelbrot=size=480x270:rate=20'],
    ...['-t', '4', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '400k', '-an'],
  ]);
  await fs.writeFile(marker, `Sample library made by Lumen on ${now.toISOString()}\n`);
  return true;
}
