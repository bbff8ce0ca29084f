/** What a model produces; it chooses the poll policy and how outputs are named. */
export type ModelKind = "image" | "video" | "3d" | "audio" | "text";
