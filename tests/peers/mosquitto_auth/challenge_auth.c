/* A mosquitto 2.0 plugin for MQTT 5 enhanced authentication, so that the real
 * broker sends AUTH packets (tests/peers): for the method "protodsl" it answers
 * a CONNECT (or a re-authentication) with the challenge "challenge" (an AUTH,
 * reason 0x18) and accepts the response "response" (a CONNACK, or an AUTH with
 * reason 0x00 when re-authenticating). Every other method is not its business.
 * The policy is ours; every byte on the wire is mosquitto's. */
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

static mosquitto_plugin_id_t *plugin;

static const char METHOD[] = "protodsl";
static const char CHALLENGE[] = "challenge";
static const char RESPONSE[] = "response";

static int ours(const struct mosquitto_evt_extended_auth *auth)
{
	return auth->auth_method != NULL && strcmp(auth->auth_method, METHOD) == 0;
}

static int on_start(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_extended_auth *auth = event_data;
	(void)event;
	(void)userdata;
	if (!ours(auth)) {
		return MOSQ_ERR_NOT_SUPPORTED;
	}
	auth->data_out = mosquitto_strdup(CHALLENGE);
	if (auth->data_out == NULL) {
		return MOSQ_ERR_NOMEM;
	}
	auth->data_out_len = (uint16_t)strlen(CHALLENGE);
	return MOSQ_ERR_AUTH_CONTINUE;
}

static int on_continue(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_extended_auth *auth = event_data;
	(void)event;
	(void)userdata;
	/* mosquitto 2.0.11 gives no auth_method here; it continues only what
	 * on_start took on, which is only our method */
	if (auth->data_in_len == strlen(RESPONSE)
	    && memcmp(auth->data_in, RESPONSE, auth->data_in_len) == 0) {
		return MOSQ_ERR_SUCCESS;
	}
	return MOSQ_ERR_AUTH;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	(void)supported_version_count;
	(void)supported_versions;
	return 5;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **user_data,
			  struct mosquitto_opt *opts, int opt_count)
{
	(void)user_data;
	(void)opts;
	(void)opt_count;
	plugin = identifier;
	if (mosquitto_callback_register(plugin, MOSQ_EVT_EXT_AUTH_START, on_start, NULL, NULL)) {
		return MOSQ_ERR_UNKNOWN;
	}
	return mosquitto_callback_register(plugin, MOSQ_EVT_EXT_AUTH_CONTINUE, on_continue,
					   NULL, NULL);
}

int mosquitto_plugin_cleanup(void *user_data, struct mosquitto_opt *opts, int opt_count)
{
	(void)user_data;
	(void)opts;
	(void)opt_count;
	mosquitto_callback_unregister(plugin, MOSQ_EVT_EXT_AUTH_START, on_start, NULL);
	return mosquitto_callback_unregister(plugin, MOSQ_EVT_EXT_AUTH_CONTINUE, on_continue,
					     NULL);
}
