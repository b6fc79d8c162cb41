/** Body of GET /v1/models: a small OpenAI-style model list. */
export const modelList = {
  object: 'list',
  data: ['gpt-5.5', 'gpt-5.5-mini', 'mock-model'].map((id) => ({
    id,
    object: 'model',
    created: 1_700_000_000,
    owned_by: 'mock-llm',
  })),
}
