import type { ModelKind } from "../providers/model-kind.js";

/** Extensions kiln names archived files with, and the Content-Type stored for each. */
const TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  mp4: "video/mp4",
  webm: "video/webm",
  mov: "video/quicktime",
  obj: "model/obj",
  glb: "model/gltf-binary",
  gltf: "model/gltf+json",
  fbx: "application/octet-stream",
  usdz: "model/vnd.usdz+zip",
  stl: "model/stl",
  mp3: "audio/mpeg",
  wav: "audio/wav",
  flac: "audio/flac",
  pcm: "audio/pcm",
  txt: "text/plain; charset=utf-8",
  json: "application/json",
  zip: "application/zip",
};

const BY_TYPE: Record<string, string> = Object.fromEntries([
  ...Object.entries(TYPES).map(([ext, type]): [string, string] => [type.split(";")[0]!, ext]),
  ["image/jpg", "jpg"],
  ["audio/mp3", "mp3"],
  ["audio/x-wav", "wav"],
  ["text/plain", "txt"],
]);

/** Content-Types that say nothing about the bytes, so the extension decides instead. */
const VAGUE = new Set(["application/octet-stream", "binary/octet-stream", "application/x-download", ""]);

/**
 * Picks the extension and Content-Type of an output: what the provider declared (e.g. a 3D
 * `type: "obj"`) first, then the download's Content-Type, then the URL's path, then `bin`.
 */
export function mediaTypeOf(
  declaredExt: string | undefined,
  contentType: string | undefined,
  url: string | undefined,
): { ext: string; contentType: string } {
  const header = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  const ext =
    clean(declaredExt) ?? (VAGUE.has(header) || !Object.hasOwn(BY_TYPE, header) ? undefined : BY_TYPE[header]) ?? extOfUrl(url) ?? "bin";
  const type = (Object.hasOwn(TYPES, ext) ? TYPES[ext] : undefined) ?? (VAGUE.has(header) ? "application/octet-stream" : header);
  return { ext, contentType: type };
}

function extOfUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const match = /\.([A-Za-z0-9]{2,5})$/.exec(new URL(url).pathname);
    return clean(match?.[1]);
  } catch {
    return undefined;
  }
}

function clean(ext: string | undefined): string | undefined {
  const e = ext?.toLowerCase().replace(/^\./, "");
  if (!e || !/^[a-z0-9]{1,8}$/.test(e)) return undefined;
  return e === "jpeg" ? "jpg" : e;
}

/**
 * Types a browser runs or renders as a page. Stored and served from the archive they could run
 * script under the archive's origin, so no media model's output may be one.
 */
const ACTIVE =
  /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|text\/javascript|application\/javascript|application\/ecmascript)$/;

/**
 * What each media kind's outputs may be labelled, besides a vague type (video covers are
 * images; audio may come in a video container). 3D files are served under many labels (OBJ as
 * `text/plain` or `application/x-tgif`, FBX, STL, zips), so only active types are refused there.
 */
const ACCEPTED: Record<Exclude<ModelKind, "text">, RegExp> = {
  image: /^image\//,
  video: /^(video|image)\/|^application\/mp4$/,
  audio: /^(audio|video)\/|^application\/(ogg|mp4)$/,
  "3d": /./,
};

/**
 * True when `contentType` says the output is not what a model of `kind` makes: an image
 * model's output labelled `text/html`, `image/svg+xml` or `audio/mpeg`. A vague or missing type
 * says nothing, so it never contradicts; text models may answer in any type.
 */
export function contradictsKind(kind: ModelKind, contentType: string | undefined): boolean {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (kind === "text" || VAGUE.has(type)) return false;
  return ACTIVE.test(type) || !ACCEPTED[kind].test(type);
}
