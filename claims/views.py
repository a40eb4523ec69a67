from django.conf import settings


def site_context(request):
    return {"organization_name": settings.FACTCHECK_ORGANIZATION_NAME}
