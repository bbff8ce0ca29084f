import { describe, it, expect } from "vitest";
import { contradictsKind, mediaTypeOf } from "../../src/storage/media-types.js";

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

describe("contradictsKind", () => {
  it("refuses pages and scripts from every media kind, and another family's type", () => {
    for (const kind of ["image", "video", "audio", "3d"] as const) {
      for (const type of ["text/html; charset=utf-8", "image/svg+xml", "application/xhtml+xml", "text/javascript"])
        expect(contradictsKind(kind, type), `${kind} ${type}`).toBe(true);
    }
    expect(contradictsKind("image", "audio/mpeg")).toBe(true);
    expect(contradictsKind("audio", "image/png")).toBe(true);
  });

  it("accepts the kind's own types, covers and previews, vague or missing types, and anything from a text model", () => {
    expect(contradictsKind("image", "image/png")).toBe(false);
    expect(contradictsKind("video", "image/jpeg")).toBe(false);
    expect(contradictsKind("3d", "model/gltf-binary")).toBe(false);
    expect(contradictsKind("3d", "application/zip")).toBe(false);
    expect(contradictsKind("3d", "application/x-tgif")).toBe(false);
    expect(contradictsKind("image", "application/octet-stream")).toBe(false);
    expect(contradictsKind("image", undefined)).toBe(false);
    expect(contradictsKind("text", "text/html")).toBe(false);
  });
});
