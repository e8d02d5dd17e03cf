export function serveAcceptanceFixtures(
  acceptanceTests: Record<string, { tests?: { config_path?: string; status?: string }[] } | undefined>,
  base?: string,
  fixtures?: string,
): Promise<{ endpoint: string; buckets: string[]; stop: () => Promise<void> }>;
