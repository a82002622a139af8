"""All of the meetings app's pages, under one namespace; each part keeps its own list."""

from . import host_urls, ics_urls, join_urls

app_name = "meetings"

urlpatterns = [*host_urls.urlpatterns, *join_urls.urlpatterns, *ics_urls.urlpatterns]
