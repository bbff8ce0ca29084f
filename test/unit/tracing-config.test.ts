import { describe, expect, it } from "vitest";
import { isConfigError, tracingConfig } from "../../src/config/index.js";

describe("tracingConfig: the OTEL_* variables that turn tracing on", () => {
  it("is off without an endpoint, whatever else is set", () => {
    expect(tracingConfig({})).toBeUndefined();
    expect(
      tracingConfig({ OTEL_SERVICE_NAME: "kiln-eu", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_EXPORTER_OTLP_ENDPOINT: "" }),
    ).toBeUndefined();
  });

  it("sends to the base endpoint's /v1/traces, or to the traces endpoint as given", () => {
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })).toEqual({
      url: "http://collector:4318/v1/traces",
      protocol: "http/protobuf",
      serviceName: "kiln",
    });
    expect(
      tracingConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://tempo.example/otlp/traces",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
        OTEL_SERVICE_NAME: "kiln-eu",
      }),
    ).toEqual({ url: "https://tempo.example/otlp/traces", protocol: "http/json", serviceName: "kiln-eu" });
  });

  it("stays off when the SDK is disabled or the traces exporter is none", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(tracingConfig({ ...endpoint, OTEL_SDK_DISABLED: "true" })).toBeUndefined();
    expect(tracingConfig({ ...endpoint, OTEL_TRACES_EXPORTER: "none" })).toBeUndefined();
    expect(tracingConfig({ ...endpoint, OTEL_SDK_DISABLED: "false", OTEL_TRACES_EXPORTER: "otlp" })?.url).toBe(
      "http://collector:4318/v1/traces",
    );
  });

  it("refuses what kiln cannot do, naming the variable", () => {
    const problems = (env: NodeJS.ProcessEnv) => {
      try {
        tracingConfig(env);
        return "accepted";
      } catch (err) {
        expect(isConfigError(err)).toBe(true);
        return (err as Error).message;
      }
    };
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(problems({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL: .*grpc is not supported/);
    expect(problems({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "collector:4318" })).toMatch(
      /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: expected an http:\/\/ or https:\/\/ URL/,
    );
    expect(problems({ ...endpoint, OTEL_TRACES_EXPORTER: "zipkin" })).toMatch(/OTEL_TRACES_EXPORTER: expected otlp or none/);
    expect(problems({ ...endpoint, OTEL_SDK_DISABLED: "yes" })).toMatch(/OTEL_SDK_DISABLED: expected true or false/);
  });
});
