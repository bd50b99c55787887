/** The parts of Ollama's wire types the gateway reads. */

/** `details` of a model in /api/tags, /api/ps and /api/show. */
export interface OllamaModelDetails {
  parent_model?: string;
  format?: string;
  family?: string;
  families?: string[] | null;
  parameter_size?: string;
  quantization_level?: string;
}

/** One entry of `/api/tags`. */
export interface OllamaTagModel {
  name: string;
  model: string;
  modified_at: string;
  size: number;
  digest: string;
  details?: OllamaModelDetails;
  [extra: string]: unknown;
}

/** One entry of `/api/ps`. */
export interface OllamaPsModel {
  name: string;
  model: string;
  size: number;
  digest: string;
  details?: OllamaModelDetails;
  expires_at: string;
  size_vram: number;
  context_length?: number;
  [extra: string]: unknown;
}

/** Final statistics Ollama attaches to the last object of a generate/chat answer. */
export interface OllamaFinalStats {
  total_duration?: number;
  load_duration?: number;
  prompt_eval_count?: number;
  prompt_eval_duration?: number;
  eval_count?: number;
  eval_duration?: number;
  done_reason?: string;
}
