import { DIRECTIVES } from "../../simulator/simulator-options.js";

/** What the demo asks for: one request per TokenHub family, and one the provider will fail. */
export const DEMO_REQUESTS: Array<{ label: string; model: string; input: Record<string, unknown> }> = [
  { label: "image (async)", model: "HY-Image-V3.0", input: { prompt: "雨中, 竹林, 小路 (bamboo path in the rain)" } },
  { label: "image (sync)", model: "HY-Image-Lite", input: { prompt: "a red kite over a harbour" } },
  { label: "video (text)", model: "HY-Video-1.5", input: { prompt: "小河流水 (a flowing stream)" } },
  { label: "video (image)", model: "YT-Video-2.0", input: { image: { url: "https://example.com/still.jpeg" } } },
  { label: "3D (pro)", model: "HY-3D-3.0", input: { prompt: "一只小狗 (a puppy)" } },
  { label: "3D (express)", model: "HY-3D-Express", input: { prompt: "a wooden chair" } },
  { label: "provider failure", model: "HY-Image-V3.0", input: { prompt: `a forbidden picture ${DIRECTIVES.fail}` } },
];
