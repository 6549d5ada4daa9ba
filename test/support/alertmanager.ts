/** Alertmanager's webhook payload (version 4) with one alert, and posting it to the prometheus source. */
export interface AlertOptions {
  alertname: string;
  status?: "firing" | "resolved";
  startsAt?: string;
  endsAt?: string;
  labels?: Record<string, string>;
  summary?: string;
  fingerprint?: string;
}

export function alertmanagerPayload(options: AlertOptions): Record<string, unknown> {
  const { alertname, status = "firing", startsAt = "2026-12-01T04:00:00Z" } = options;
  return {
    version: "4",
    status,
    receiver: "patchbay",
    groupKey: `{}:{alertname="${alertname}"}`,
    groupLabels: { alertname },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: "http://alertmanager:9093",
    truncatedAlerts: 0,
    alerts: [
      {
        status,
        labels: { alertname, severity: "warning", ...options.labels },
        annotations: { summary: options.summary ?? `${alertname} is firing` },
        startsAt,
        endsAt: options.endsAt ?? "0001-01-01T00:00:00Z",
        generatorURL: "http://prometheus:9090/graph",
        ...(options.fingerprint === undefined ? {} : { fingerprint: options.fingerprint }),
      },
    ],
  };
}

/** POSTs the payload to the source until it takes it (202; a 503 while the source starts); the status. */
export async function postAlertUntilAccepted(
  url: string,
  payload: unknown,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
    });
    const text = await response.text();
    if (response.status === 202) return;
    if (response.status !== 503 || Date.now() > deadline)
      throw new Error(`the source answered ${response.status}: ${text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
