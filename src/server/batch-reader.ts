/**
 * Reads one bulk batch for `GET /v1/batches/{id}`. The batch producer provides it; the HTTP
 * server only serves what it returns, as JSON.
 */
export interface BatchReader {
  /** The batch's status, or undefined when there is no batch with that id (the server answers 404). */
  get(id: string): Promise<unknown>;
}
