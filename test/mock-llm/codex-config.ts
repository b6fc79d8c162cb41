/** A CODEX_HOME config.toml that points codex at a mock-llm base URL (no retries, no telemetry, no plugins). */
export function codexConfigToml(baseUrl: string): string {
  return `model = "gpt-5.5"
model_provider = "mock"
[model_providers.mock]
name = "mock"
base_url = "${baseUrl}"
wire_api = "responses"
env_key = "MOCK_KEY"
stream_max_retries = 0
request_max_retries = 0
[analytics]
enabled = false
[features]
plugins = false
apps = false
`
}
