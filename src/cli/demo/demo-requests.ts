const say = (content: string) => ({ messages: [{ role: "user", content }] });

interface DemoRequest {
  label: string;
  provider: "tokenhub" | "gateway" | "wcode";
  model: string;
  input: Record<string, unknown>;
}

/**
 * What the demo asks for: a request per kind of answer across the three providers, and one the
 * provider fails (its prompt carries the simulator's `fail` directive).
 */
export function demoRequests(failDirective: string): DemoRequest[] {
  return [
    {
      label: "image (async)",
      provider: "tokenhub",
      model: "HY-Image-V3.0",
      input: { prompt: "雨中, 竹林, 小路 (bamboo path in the rain)" },
    },
    { label: "image (sync)", provider: "tokenhub", model: "HY-Image-Lite", input: { prompt: "a red kite over a harbour" } },
    { label: "video (text)", provider: "tokenhub", model: "HY-Video-1.5", input: { prompt: "小河流水 (a flowing stream)" } },
    { label: "video (image)", provider: "tokenhub", model: "YT-Video-2.0", input: { image: { url: "https://example.com/still.jpeg" } } },
    { label: "3D (pro)", provider: "tokenhub", model: "HY-3D-3.0", input: { prompt: "一只小狗 (a puppy)" } },
    { label: "3D (express)", provider: "tokenhub", model: "HY-3D-Express", input: { prompt: "a wooden chair" } },
    {
      label: "gateway video",
      provider: "gateway",
      model: "wan2.7-t2v",
      input: { ...say("一只橘猫坐在窗边 (a cat by the window)"), duration: 5, resolution: "720P" },
    },
    {
      label: "gateway images",
      provider: "gateway",
      model: "qwen-image-2.0",
      input: { ...say("俯瞰雪山湖泊 (a lake among snowy peaks)"), size: "1664*928", n: 2 },
    },
    {
      label: "gateway speech",
      provider: "gateway",
      model: "speech-2.8-hd",
      input: { ...say("欢迎使用 kiln (welcome to kiln)"), voice_id: "Boyan_new_hd" },
    },
    { label: "wcode chat", provider: "wcode", model: "tencent/hunyuan-a13b-instruct", input: say("你好,请介绍一下你自己") },
    { label: "provider failure", provider: "tokenhub", model: "HY-Image-V3.0", input: { prompt: `a forbidden picture ${failDirective}` } },
  ];
}
