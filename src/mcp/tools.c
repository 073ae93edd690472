/*
 * tools.c - the MCP tool table, in the stable order tools/list shows it (a stable order helps
 * clients cache prompts).
 */
#include <string.h>

#include "mcp/mcp_int.h"

static const struct mcp_tool tools[] = {
    {"search", mcp_tool_search, mcp_describe_search},
    {"timeline", mcp_tool_timeline, mcp_describe_timeline},
    {"get_observations", mcp_tool_get_observations, mcp_describe_get_observations},
    {"save_memory", mcp_tool_save_memory, mcp_describe_save_memory},
    {"memory_admin", mcp_tool_memory_admin, mcp_describe_memory_admin},
};

const struct mcp_tool *mcp_tools(size_t *n)
{
    *n = sizeof tools / sizeof tools[0];
    return tools;
}

const struct mcp_tool *mcp_tool_find(const char *name)
{
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
        if (strcmp(tools[i].name, name) == 0)
            return &tools[i];
    return NULL;
}

json_t *mcp_tools_list(void)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < sizeof tools / sizeof tools[0]; i++) {
        json_t *t = tools[i].describe();
        if (t == NULL || json_array_append_new(a, t) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}
