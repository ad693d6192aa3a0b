// module placeholder during bootstrap
