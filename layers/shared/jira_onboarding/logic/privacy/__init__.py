"""Personal data of Jira accounts: reported to Atlassian, erased or refreshed on its answer."""
