/** A JSON object (not null, not an array): the shape configs, catalogs and states are made of. */
export const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
