import { describe, it, expect } from "vitest";
import { mediaTypeOf } from "../../src/workers/media-types.js";

describe("mediaTypeOf", () => {
  it("lets the declared extension win over Content-Type and URL", () => {
    expect(mediaTypeOf("obj", "application/zip", "https://r.example.com/m.zip")).toEqual({ ext: "obj", contentType: "model/obj" });
  });

  it("normalises a declared JPEG / .jpeg to jpg", () => {
    expect(mediaTypeOf("JPEG", undefined, undefined)).toEqual({ ext: "jpg", contentType: "image/jpeg" });
    expect(mediaTypeOf(".jpeg", undefined, undefined)).toEqual({ ext: "jpg", contentType: "image/jpeg" });
  });

  it("uses the Content-Type when nothing is declared", () => {
    expect(mediaTypeOf(undefined, "image/png", "https://r.example.com/a.bin")).toEqual({ ext: "png", contentType: "image/png" });
  });

  it("ignores Content-Type parameters and case", () => {
    expect(mediaTypeOf(undefined, "Image/JPEG; charset=x", undefined)).toEqual({ ext: "jpg", contentType: "image/jpeg" });
  });

  it("falls back to the URL path when the Content-Type is vague", () => {
    expect(mediaTypeOf(undefined, "application/octet-stream", "https://r.example.com/out/model.glb?sig=abc")).toEqual({
      ext: "glb",
      contentType: "model/gltf-binary",
    });
  });

  it("is bin / application/octet-stream when nothing tells", () => {
    expect(mediaTypeOf(undefined, undefined, undefined)).toEqual({ ext: "bin", contentType: "application/octet-stream" });
    expect(mediaTypeOf(undefined, "binary/octet-stream", "https://r.example.com/download")).toEqual({
      ext: "bin",
      contentType: "application/octet-stream",
    });
  });
});
